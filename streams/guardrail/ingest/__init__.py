"""`guardrail ingest`: a brand's own topics mapped into the contract's input topics."""
