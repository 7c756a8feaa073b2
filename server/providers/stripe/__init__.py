"""Everything that talks to Stripe goes through this package: the only `stripe` import.

The SDK's async client (`StripeClient` over `HTTPXClient`) keeps calls off the event loop's
thread without worker threads. Callers get plain dicts and strings, and `PaymentError` for
failures, with `permanent` telling a refusal (a bad key, an unknown price) from a hiccup.
Webhook payloads are verified here too (`verify_event`), with Stripe's own signature check.
"""

from server.providers.stripe.client import PaymentError, Payments, payments_for
from server.providers.stripe.events import InvalidSignature, ProviderEvent, verify_event

__all__ = [
    "InvalidSignature",
    "PaymentError",
    "Payments",
    "ProviderEvent",
    "payments_for",
    "verify_event",
]
