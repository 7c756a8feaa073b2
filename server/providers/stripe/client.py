"""Stripe API calls: customers, Checkout Sessions, billing portal sessions, subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import stripe

if TYPE_CHECKING:
    from server.config import Settings


class PaymentError(Exception):
    """A Stripe call failed; `permanent` when repeating it cannot help (a refused request)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


# Stripe's error classes that mean the request itself is wrong, not the moment
# (https://docs.stripe.com/error-handling#error-types).
_PERMANENT = (
    stripe.InvalidRequestError,
    stripe.AuthenticationError,
    stripe.PermissionError,
    stripe.CardError,
)


def _failure(exc: stripe.StripeError) -> PaymentError:
    message = exc.user_message or str(exc) or type(exc).__name__
    return PaymentError(f"Stripe: {message}", permanent=isinstance(exc, _PERMANENT))


class Payments:
    """One Stripe account, as the settings name it."""

    def __init__(self, secret_key: str, api_base: str, *, timeout_seconds: float = 20) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        # The SDK retries connection errors and 409/429/5xx with idempotency keys it adds
        # to each POST (https://docs.stripe.com/error-low-level#idempotency).
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=2,
        )

    async def aclose(self) -> None:
        await self._http.close_async()

    async def create_customer(self, *, org_id: int, name: str, email: str | None) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"org_id": str(org_id)}}
        if email:
            params["email"] = email
        try:
            customer = await self._client.v1.customers.create_async(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _failure(exc) from exc
        return str(customer.id)

    async def checkout_url(
        self,
        *,
        customer_id: str,
        price_id: str,
        org_id: int,
        success_url: str,
        cancel_url: str,
    ) -> str:
        """A Checkout Session in subscription mode for one price; the subscription carries
        the organization's id in its metadata, so its events name the organization."""
        params: dict[str, Any] = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(org_id),
            "line_items": [{"price": price_id, "quantity": 1}],
            "subscription_data": {"metadata": {"org_id": str(org_id)}},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _failure(exc) from exc
        if not session.url:
            raise PaymentError("Stripe: the Checkout Session has no URL", permanent=False)
        return str(session.url)

    async def portal_url(self, *, customer_id: str, return_url: str) -> str:
        params: dict[str, Any] = {"customer": customer_id, "return_url": return_url}
        try:
            session = await self._client.v1.billing_portal.sessions.create_async(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise _failure(exc) from exc
        return str(session.url)

    async def set_cancel_at_period_end(self, subscription_id: str, cancel: bool) -> dict[str, Any]:
        """Cancel at the end of the period paid for, or take that back; the subscription
        as Stripe then has it (https://docs.stripe.com/billing/subscriptions/cancel)."""
        params: dict[str, Any] = {"cancel_at_period_end": cancel}
        try:
            subscription = await self._client.v1.subscriptions.update_async(
                subscription_id,
                params=params,  # type: ignore[arg-type]
            )
        except stripe.StripeError as exc:
            raise _failure(exc) from exc
        return subscription.to_dict()


def payments_for(settings: Settings) -> Payments | None:
    """The Stripe account of the settings, or None when billing is off (no secret key)."""
    if not settings.stripe_secret_key:
        return None
    return Payments(settings.stripe_secret_key, settings.stripe_api_base)
