"""The personalization guardrail: a pure decision core and the shells around it."""
