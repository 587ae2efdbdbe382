"""The contract's records as frozen, validated models.

Field names and meanings follow ``docs/contract.md`` and the ``.avsc`` files in
``schemas/``. Unknown extra fields are ignored; a missing required field, a wrong type or an
unknown enum value raises :class:`pydantic.ValidationError`, which callers turn into a
dead letter or a rejected replay line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, Strict, TypeAdapter, field_validator

from guardrail.core.zones import zone

Channel = Literal["email", "push", "sms", "in_app", "ad"]
Trigger = Literal["batch", "browse", "cart", "purchase", "location", "life_event"]
DataSource = Literal[
    "purchase_history", "browsing", "location", "profile", "third_party", "social", "inferred"
]
BrowsingAction = Literal["view", "search", "add_to_cart", "remove_from_cart"]
Action = Literal["deliver", "rewrite", "suppress"]
# The record kinds: a replay line's "type", and the logical name of the input topic each one
# arrives on (settings, metric labels and tools all use these names).
EventType = Literal["purchase", "location", "browsing", "profile", "recommendation"]
MessageClass = Literal["marketing", "transactional"]

# The same values as tuples, in the contract's order, for loops and closed label sets.
CHANNELS: tuple[Channel, ...] = get_args(Channel)
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
ACTIONS: tuple[Action, ...] = get_args(Action)
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
MESSAGE_CLASSES: tuple[MessageClass, ...] = get_args(MessageClass)

# Scalars are strict: a number, a boolean or a timestamp written as a string ("ts":
# "1795846190334", "gift": "yes") is refused, in JSON and in Avro alike, never coerced. A
# float field takes an integer (JSON has one number type); an int field refuses 1.0 and true.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
# Epoch milliseconds. Bounded to years 1970..2200 so a seconds/microseconds mix-up is refused.
EpochMillis = Annotated[int, Strict(), Field(ge=0, le=7_258_118_400_000)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=False)


class PurchaseItem(_Record):
    sku: str
    category: str
    quantity: Int = 1
    price: Float = 0.0


class Purchase(_Record):
    event_id: str
    customer_id: str
    ts: EpochMillis
    order_id: str
    items: tuple[PurchaseItem, ...]
    gift: Bool = False


class Location(_Record):
    event_id: str
    customer_id: str
    ts: EpochMillis
    lat: Float = Field(ge=-90, le=90)
    lon: Float = Field(ge=-180, le=180)
    accuracy_m: Float | None = None
    place_id: str | None = None
    place_name: str | None = None


class Browsing(_Record):
    event_id: str
    customer_id: str
    ts: EpochMillis
    action: BrowsingAction
    sku: str | None = None
    category: str | None = None
    query: str | None = None


class Consent(_Record):
    """A customer's consent. Missing fields take the contract's consent defaults."""

    personalization: Bool = True
    location_marketing: Bool = False
    third_party_data: Bool = False
    sensitive_categories: tuple[str, ...] = ()


class Profile(_Record):
    """A partial profile update: a null field leaves the stored value as it was."""

    event_id: str
    customer_id: str
    ts: EpochMillis
    first_name: str | None = None
    timezone: str | None = None
    consent: Consent | None = None
    channel_opt_outs: tuple[Channel, ...] | None = None
    declared_life_events: tuple[str, ...] | None = None
    erase: Bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)  # ValueError when unknown
        return value


class RecItem(_Record):
    sku: str
    category: str


class Guardrail(_Record):
    """What the guardrail did, stamped on an approved recommendation."""

    action: Action
    reasons: tuple[str, ...] = ()
    policy_version: str
    explanation: str | None = None


class Recommendation(_Record):
    rec_id: str
    customer_id: str
    ts: EpochMillis
    channel: Channel
    campaign_id: str | None = None
    trigger: Trigger
    items: tuple[RecItem, ...] = ()
    title: str | None = None
    body: str
    data_sources: tuple[DataSource, ...] = ()
    based_on: tuple[str, ...] = ()
    life_event: str | None = None
    deliver_after: EpochMillis | None = None
    # Contract v2: records without these keep their v1 meaning.
    message_class: MessageClass = "marketing"
    priority: Int = Field(default=50, ge=0, le=100)
    expires_at: EpochMillis | None = None
    guardrail: Guardrail | None = None


class Reason(_Record):
    code: str
    detail: str
    # Set when the rule runs in shadow mode: recorded, but it did not change the action.
    shadow: Bool = False


class Decision(_Record):
    rec_id: str
    customer_id: str
    ts: EpochMillis
    action: Action
    reasons: tuple[Reason, ...]
    policy_version: str
    explanation: str | None = None
    recommendation: Recommendation | None = None
    # Contract v2: the customer is in the policy's holdout group.
    holdout: Bool = False


class DeadLetter(_Record):
    source_topic: str
    partition: Int
    offset: Int
    key: bytes | None = None
    value: bytes | None = None
    error: str
    ts: EpochMillis


Signal = Purchase | Location | Browsing | Profile
Event = Purchase | Location | Browsing | Profile | Recommendation

EVENT_MODELS: dict[str, type[_Record]] = {
    "purchase": Purchase,
    "location": Location,
    "browsing": Browsing,
    "profile": Profile,
    "recommendation": Recommendation,
}

_DECISION_ADAPTER: TypeAdapter[Decision] = TypeAdapter(Decision)


def parse_event(kind: str, data: dict[str, Any]) -> Event:
    """Validate ``data`` as the record named ``kind`` (one of :data:`EVENT_MODELS`).

    Raises ``KeyError`` for an unknown kind and ``pydantic.ValidationError`` for a bad record.
    """
    model = EVENT_MODELS[kind]
    event: Event = model.model_validate(data)  # type: ignore[assignment]
    return event


def event_type(event: Event) -> EventType:
    """The replay ``type`` name of ``event``."""
    if isinstance(event, Recommendation):
        return "recommendation"
    if isinstance(event, Purchase):
        return "purchase"
    if isinstance(event, Browsing):
        return "browsing"
    if isinstance(event, Location):
        return "location"
    return "profile"


def decision_to_json(decision: Decision) -> str:
    """Canonical one-line JSON of a decision: the replay output format."""
    return _DECISION_ADAPTER.dump_json(decision).decode()
