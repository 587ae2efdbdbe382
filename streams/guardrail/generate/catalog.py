"""Static data for ``guardrail generate``: catalog, names, places, timezones and copy.

Pure data, no logic. Everything here is made up; any resemblance to real shops is chance.
Category paths follow the default policy (``streams/guardrail/core/default_policy.yaml``): the
durable, consumable and sensitive categories it names all appear below.
"""

from __future__ import annotations

# path -> (noun, label, [product names], (min price, max price), [search queries])
CATALOG: dict[str, tuple[str, str, tuple[str, ...], tuple[float, float], tuple[str, ...]]] = {
    "electronics/laptops": (
        "laptop",
        "laptops",
        ("Aero 14 Laptop", "ProBook 16", "Zenith Ultra 13", "Nimbus Chromebook 14"),
        (399, 2199),
        ("lightweight laptop for travel", "laptop 16gb ram", "best student laptop"),
    ),
    "electronics/tv": (
        "TV",
        "TVs",
        ("Vista 55in 4K TV", "Lumen 65in OLED TV", "Vista 43in Smart TV"),
        (299, 1999),
        ("65 inch oled tv", "tv for gaming 120hz"),
    ),
    "electronics/headphones": (
        "pair of headphones",
        "headphones",
        ("Quiet Pro Headphones", "Pulse Wireless Earbuds", "Studio Monitor Headphones"),
        (39, 349),
        ("noise cancelling headphones", "wireless earbuds for running"),
    ),
    "electronics/accessories": (
        "accessory",
        "tech accessories",
        ("USB-C Charger 65W", "Laptop Sleeve 14in", "Silent Wireless Mouse", "HDMI Cable 2m"),
        (9, 79),
        ("fast charger for laptop", "laptop sleeve 14 inch"),
    ),
    "furniture/sofas": (
        "sofa",
        "sofas",
        ("Harbor 3-Seat Sofa", "Linden Sleeper Sofa", "Moss Loveseat"),
        (499, 1899),
        ("grey sleeper sofa", "small sofa for apartment"),
    ),
    "furniture/desks": (
        "desk",
        "desks",
        ("Lift Standing Desk", "Oak Writing Desk"),
        (149, 699),
        ("electric standing desk 140cm",),
    ),
    "furniture/mattresses": (
        "mattress",
        "mattresses",
        ("CloudRest Queen Mattress", "FirmCore King Mattress"),
        (299, 1299),
        ("medium firm queen mattress",),
    ),
    "appliances/washers": (
        "washing machine",
        "washing machines",
        ("EcoWash 8kg Washer", "FrontLoad 9kg Washer"),
        (399, 999),
        ("quiet front load washer",),
    ),
    "appliances/refrigerators": (
        "fridge",
        "fridges",
        ("FrostFree 350L Fridge", "Compact Under-Counter Fridge"),
        (249, 1499),
        ("fridge freezer no frost",),
    ),
    "home/toilet-seats": (
        "toilet seat",
        "toilet seats",
        ("SoftClose Toilet Seat", "Bamboo Toilet Seat"),
        (25, 89),
        ("soft close toilet seat",),
    ),
    "home/bedding": (
        "set of sheets",
        "bedding",
        ("Percale Sheet Set", "All-Season Duvet", "Linen Pillowcases x2"),
        (29, 149),
        ("cotton percale sheets queen",),
    ),
    "home/kitchen": (
        "kitchen tool",
        "kitchenware",
        ("Cast Iron Skillet 26cm", "Burr Coffee Grinder", "Chef Knife 20cm"),
        (19, 129),
        ("skillet for induction", "manual grinder for espresso"),
    ),
    "automotive/tires": (
        "tire",
        "tires",
        ("AllSeason 205/55R16 Tire", "WinterGrip 225/45R17 Tire"),
        (89, 229),
        ("winter tires 17 inch",),
    ),
    "automotive/care": (
        "car care kit",
        "car care",
        ("Ceramic Car Wax", "Microfiber Wash Kit"),
        (12, 49),
        ("car wax ceramic",),
    ),
    "grocery/coffee": (
        "bag of coffee",
        "coffee",
        ("Dark Roast Beans 1kg", "Espresso Pods x50", "Colombian Ground Coffee 500g"),
        (8, 29),
        ("whole bean coffee dark roast", "decaf espresso pods"),
    ),
    "pet/food": (
        "bag of pet food",
        "pet food",
        ("Grain-Free Dog Food 12kg", "Indoor Cat Food 4kg"),
        (19, 69),
        ("dog food for allergies", "senior cat food"),
    ),
    "pet/toys": (
        "pet toy",
        "pet toys",
        ("Rope Tug Toy", "Feather Wand Cat Toy"),
        (5, 19),
        ("indestructible dog toy",),
    ),
    "household/detergent": (
        "detergent",
        "laundry care",
        ("Laundry Pods x60", "Eco Liquid Detergent 3L"),
        (9, 24),
        ("fragrance free laundry pods",),
    ),
    "apparel/shoes": (
        "pair of shoes",
        "shoes",
        ("Trail Runner GTX", "Everyday Canvas Sneaker", "Leather Chelsea Boot"),
        (49, 179),
        ("waterproof hiking boots", "white sneakers women"),
    ),
    "apparel/outerwear": (
        "jacket",
        "outerwear",
        ("Packable Down Jacket", "Storm Rain Shell"),
        (69, 249),
        ("packable rain jacket",),
    ),
    "apparel/tops": (
        "top",
        "tops",
        ("Organic Cotton Tee", "Merino Crew Sweater", "Oxford Shirt"),
        (19, 99),
        ("merino wool sweater men",),
    ),
    "books/fiction": (
        "book",
        "fiction",
        ("The Quiet Orbit", "Salt and Ember", "A Map of Small Rivers"),
        (9, 28),
        ("new thriller books",),
    ),
    "books/cooking": (
        "cookbook",
        "cookbooks",
        ("Weeknight Vegetarian", "Bread Basics"),
        (15, 39),
        ("easy sourdough cookbook",),
    ),
    "beauty/skincare": (
        "skincare product",
        "skincare",
        ("Daily SPF 50 Moisturizer", "Vitamin C Serum", "Gentle Foaming Cleanser"),
        (12, 59),
        ("vitamin c serum sensitive skin",),
    ),
    "beauty/fragrance": (
        "fragrance",
        "fragrance",
        ("Cedar and Fig Eau de Parfum", "Citrus Bloom Cologne"),
        (39, 119),
        ("woody perfume for women",),
    ),
    "toys/building": (
        "building set",
        "building sets",
        ("Space Station Building Set", "Marble Run Deluxe"),
        (19, 99),
        ("building set for 8 year old",),
    ),
    "sports/fitness": (
        "piece of fitness gear",
        "fitness gear",
        ("Adjustable Dumbbells 24kg", "Grip Yoga Mat", "Resistance Band Set"),
        (15, 299),
        ("dumbbell set for home gym", "non slip yoga mat"),
    ),
    "garden/tools": (
        "garden tool",
        "garden tools",
        ("Bypass Pruner", "Expandable Garden Hose 30m"),
        (15, 59),
        ("50m hose for garden",),
    ),
    "jewelry/necklaces": (
        "necklace",
        "necklaces",
        ("Sterling Pendant Necklace", "Pearl Drop Necklace"),
        (49, 299),
        ("sterling silver pendant",),
    ),
    "baby/diapers": (
        "pack of diapers",
        "diapers",
        ("Sensitive Diapers Size 3 x84", "Overnight Diapers Size 4"),
        (19, 45),
        ("diapers for newborn rash",),
    ),
    # Sensitive categories (default groups: health, reproductive, financial_hardship, religion).
    "health/vitamins": (
        "vitamin",
        "vitamins",
        ("Daily Multivitamin", "Vitamin D3 2000IU"),
        (7, 29),
        ("vitamin d3 drops",),
    ),
    "health/fertility": (
        "fertility kit",
        "fertility care",
        ("Ovulation Test Kit", "Fertility Tracker Thermometer"),
        (15, 79),
        ("ovulation test strips",),
    ),
    "pharmacy/allergy": (
        "allergy remedy",
        "allergy relief",
        ("Allergy Relief 24h Tablets", "Saline Nasal Spray"),
        (6, 24),
        ("non drowsy allergy tablets",),
    ),
    "pharmacy/sleep": (
        "sleep aid",
        "sleep aids",
        ("Sleep Aid Tablets", "Melatonin Gummies"),
        (6, 19),
        ("gummies to help sleep",),
    ),
    "baby/pregnancy": (
        "pregnancy product",
        "pregnancy essentials",
        ("Prenatal Vitamins", "Pregnancy Test 2-Pack", "Maternity Support Pillow"),
        (9, 69),
        ("early pregnancy test",),
    ),
    "baby/formula": (
        "tin of formula",
        "baby formula",
        ("Infant Formula Stage 1", "Hypoallergenic Formula"),
        (19, 39),
        ("hypoallergenic baby formula",),
    ),
    "apparel/maternity": (
        "maternity piece",
        "maternity wear",
        ("Maternity Jeans", "Nursing Top"),
        (29, 79),
        ("jeans for pregnancy",),
    ),
    "finance/debt": (
        "debt plan",
        "debt help",
        ("Debt Consolidation Guide", "Budget Reset Workbook"),
        (9, 29),
        ("how to consolidate credit card debt",),
    ),
    "finance/payday-loans": (
        "cash advance",
        "cash advances",
        ("QuickCash Advance Offer",),
        (0, 0),
        ("cash advance before payday",),
    ),
    "religion/books": (
        "devotional",
        "devotionals",
        ("Daily Devotional 2026", "Study Bible"),
        (12, 45),
        ("daily devotional book",),
    ),
}

SENSITIVE_GROUPS: dict[str, tuple[str, ...]] = {
    "health": ("health", "pharmacy"),
    "reproductive": (
        "baby/pregnancy",
        "health/fertility",
        "health/contraception",
        "baby/formula",
        "apparel/maternity",
    ),
    "sexuality": ("adult",),
    "religion": ("religion",),
    "politics": ("politics",),
    "financial_hardship": ("finance/debt", "finance/payday-loans", "finance/bankruptcy"),
}
DURABLE = (
    "electronics/laptops",
    "electronics/tv",
    "furniture",
    "appliances",
    "home/toilet-seats",
    "automotive/tires",
)
CONSUMABLE = ("grocery/coffee", "pet/food", "household/detergent")
GIFTABLE = (
    "toys/building",
    "jewelry/necklaces",
    "beauty/fragrance",
    "baby/diapers",
    "books/fiction",
    "electronics/headphones",
)

# What goes well after a purchase in a category (for clean "purchase" recommendations).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "electronics/laptops": ("electronics/accessories", "electronics/headphones"),
    "electronics/tv": ("electronics/accessories", "electronics/headphones"),
    "furniture/sofas": ("home/bedding",),
    "furniture/desks": ("electronics/accessories",),
    "furniture/mattresses": ("home/bedding",),
    "appliances/washers": ("household/detergent",),
    "appliances/refrigerators": ("home/kitchen",),
    "home/toilet-seats": ("household/detergent",),
    "automotive/tires": ("automotive/care",),
    "grocery/coffee": ("home/kitchen", "books/cooking"),
    "pet/food": ("pet/toys",),
    "apparel/shoes": ("apparel/outerwear", "sports/fitness"),
    "books/fiction": ("books/cooking",),
    "sports/fitness": ("apparel/shoes",),
}

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Lucía",
    "Björn",
    "Amélie",
    "Mateo",
    "Aiko",
    "Olu",
)

# (IANA timezone, weight, (lat, lon) of a city in it)
TIMEZONES: tuple[tuple[str, float, tuple[float, float]], ...] = (
    ("UTC", 4, (51.5074, -0.1278)),
    ("Europe/London", 10, (51.5074, -0.1278)),
    ("Europe/Berlin", 9, (52.52, 13.405)),
    ("Europe/Paris", 7, (48.8566, 2.3522)),
    ("Europe/Madrid", 5, (40.4168, -3.7038)),
    ("Europe/Warsaw", 3, (52.2297, 21.0122)),
    ("America/New_York", 14, (40.7128, -74.006)),
    ("America/Chicago", 8, (41.8781, -87.6298)),
    ("America/Denver", 3, (39.7392, -104.9903)),
    ("America/Los_Angeles", 10, (34.0522, -118.2437)),
    ("America/Sao_Paulo", 5, (-23.5505, -46.6333)),
    ("America/Mexico_City", 4, (19.4326, -99.1332)),
    ("Asia/Tokyo", 6, (35.6762, 139.6503)),
    ("Asia/Singapore", 4, (1.3521, 103.8198)),
    ("Asia/Kolkata", 6, (19.076, 72.8777)),
    ("Asia/Dubai", 2, (25.2048, 55.2708)),
)

PLACES = (
    "Riverside Mall",
    "Main St Pharmacy",
    "Central Station",
    "Greenfield Gym",
    "Oakwood Medical Center",
    "Harbor Coffee Roasters",
    "Northgate Shopping Centre",
    "City Library",
    "Lakeside Outlet Park",
    "Elm Street Market",
    "Westfield Plaza",
    "Sunrise Fertility Clinic",
    "St. Mary's Church",
    "Union Square",
)

LIFE_EVENTS = ("wedding", "new_baby", "graduation", "moving", "new_job", "retirement", "new_pet")
LIFE_COPY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "wedding": (
        "Congratulations on your wedding!",
        "Start your registry today and get 10% off everything on it.",
        ("home/kitchen", "home/bedding"),
    ),
    "new_baby": (
        "Welcome to the family!",
        "Everything for the first months, delivered free.",
        ("baby/diapers", "toys/building"),
    ),
    "graduation": (
        "Congrats, graduate!",
        "Gear up for what's next with student deals.",
        ("electronics/laptops", "electronics/headphones"),
    ),
    "moving": (
        "Moving soon? Start here",
        "Set up your new place with free delivery.",
        ("furniture/sofas", "home/bedding"),
    ),
    "new_job": (
        "Good luck in the new job!",
        "Look sharp from day one.",
        ("apparel/tops", "electronics/accessories"),
    ),
    "retirement": (
        "Happy retirement!",
        "Time for the garden, the books and the long walks.",
        ("garden/tools", "books/fiction"),
    ),
    "new_pet": (
        "Welcome home, new friend!",
        "Food, toys and treats for the newest member.",
        ("pet/food", "pet/toys"),
    ),
}

# Clean copy. {greet} is "Hi Ana," or "Hello,"; {product}, {label}, {noun} come from the item.
CLEAN_TITLES: dict[str, tuple[str, ...]] = {
    "batch": ("New in {label}", "This week's picks in {label}", "Fresh arrivals for you"),
    "browse": ("Still deciding?", "A second look at the {product}", "Back in stock"),
    "cart": ("Your cart is saved", "Still in your cart", "Ready when you are"),
    "purchase": ("Complete your setup", "Goes well with your order", "Picked to pair"),
    "location": ("Weekend deals in your area", "In store this week", "Local favourites"),
}
CLEAN_BODIES: dict[str, tuple[str, ...]] = {
    "batch": (
        "{greet} the {product} just landed in {label}. Free returns for 30 days.",
        "{greet} our {label} are 15% off this week. The {product} is a favourite.",
        "{greet} readers rate the {product} 4.8 out of 5. Take a look.",
    ),
    "browse": (
        "{greet} the {product} is in stock and ships free.",
        "{greet} the {product} has new reviews. See what people say.",
    ),
    "cart": (
        "{greet} the {product} is still in your cart. Checkout takes a minute.",
        "{greet} your cart is waiting, and the {product} ships free today.",
    ),
    "purchase": (
        "{greet} pair your new {noun} with the {product}.",
        "{greet} customers who chose the same often add the {product}.",
    ),
    "location": (
        "{greet} stores in your area have {label} on sale this weekend.",
        "{greet} pick up the {product} in store today, ready in an hour.",
    ),
}

# Order confirmations carrying a cross-sell (message_class transactional).
TRANSACTIONAL_COPY = (
    ("Your order is confirmed", "{greet} thanks for your order. The {product} goes well with it."),
    ("Order received", "{greet} we are packing your order. Add the {product} before it ships?"),
)
# Flash sales that end soon (expires_at set): sent late in the evening, they are deferred by
# quiet hours past their end and expire.
FLASH_COPY = (
    ("Sale ends tonight", "{greet} {label} are 30% off until midnight."),
    ("Last hours", "{greet} the {product} is 25% off, tonight only."),
)
# Copy naming the item it offers by its category's last word ({word}: "toilet seats"): once
# the customer has bought one, the item is dropped and so are these sentences; a title like
# this suppresses.
NAMING_TITLES = ("New {word} picked for you", "More {word} for you")
NAMING_SENTENCES = ("Still shopping for {word}?", "Our {word} are back in stock.")

# Mistaken copy: unfilled merge tags. Greetings (rewritable) and tags elsewhere (suppress).
BAD_GREETINGS = (
    "Dear [First Name],",
    "Hi {{first_name}}!",
    "Hi ,",
    "Hello null,",
    "Hey undefined,",
    "Hi *|FNAME|*,",
    "Dear <first_name>,",
    "Hi ${firstName},",
    "Hello {name},",
    "Hi None,",
    "Dear N/A,",
    "Hey %FIRSTNAME%,",
)
BAD_BODIES = (
    "Use code %DISCOUNT% at checkout for the {product}.",
    "Only {{stock_left}} left of the {product}!",
    "Your [Loyalty Points] points expire soon. Spend them on {label}.",
    "Get the {product} for ${sale_price} this week only.",
)
BAD_TITLES = (
    "[Product Name] is back in stock",
    "{{first_name}}, this is for you",
    "*|FNAME|*, your picks are here",
    "%CAMPAIGN_NAME%: {label} sale",
)

# Intrusive copy: surveillance detail. {clock} is a night-time clock string.
CREEPY_SENTENCES = (
    "We noticed you looked at the {product} at {clock}.",
    "You just viewed the {product}. It's selling fast!",
    "We saw you browsing {label} at {clock}.",
    "You were near {place} earlier today.",
    'Still searching for "{query}"? We found 12 matches.',
    "Around {clock} you checked out the {product}.",
)
CLOCKS = ("2am", "2:13 am", "11:47 pm", "3am", "1:05", "23:40", "4 a.m.")
CREEPY_TAIL = ("{label} are 15% off this week.", "Free shipping ends Sunday.", "")

THIRD_PARTY_COPY = (
    ("Inspired by your interests", "{greet} people like you love the {product}."),
    ("Trending with your friends", "{greet} the {product} is popular with people you follow."),
)
SENSITIVE_COPY = (
    ("Restock your {label}", "{greet} time to restock: the {product} is 20% off."),
    ("Just for you: {label}", "{greet} we picked the {product} with you in mind."),
)
