"""Sign in when no saved credentials work: email and password, then an MFA code if asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from shared.api.auth import MfaChallenge
from shared.client import ClientError

if TYPE_CHECKING:
    from console.app import UpmetrApp


class LoginScreen(Screen[bool]):
    def __init__(self, email: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._email = email
        self._mfa_token: str | None = None

    def compose(self) -> ComposeResult:
        app = cast("UpmetrApp", self.app)
        with Vertical(classes="dialog", id="login"):
            yield Static(f"Sign in to {app.display_url}", classes="question")
            yield Input(self._email, placeholder="email", id="email")
            yield Input(placeholder="password", password=True, id="password")
            code = Input(placeholder="MFA code (authenticator or backup code)", id="code")
            code.display = False
            yield code
            yield Static("", id="login-error")
            yield Button("Sign in", id="sign-in", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#password" if self._email else "#email", Input).focus()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "email":
            self.query_one("#password", Input).focus()
        else:
            self.sign_in()

    @on(Button.Pressed, "#sign-in")
    def _pressed(self) -> None:
        self.sign_in()

    @work(exclusive=True)
    async def sign_in(self) -> None:
        api = cast("UpmetrApp", self.app).api
        error = self.query_one("#login-error", Static)
        error.update("")
        try:
            if self._mfa_token is None:
                email = self.query_one("#email", Input).value.strip()
                password = self.query_one("#password", Input).value
                result = await api.auth.login(email, password)
                if isinstance(result, MfaChallenge):
                    self._mfa_token = result.mfa_token
                    code = self.query_one("#code", Input)
                    code.display = True
                    code.focus()
                    return
            else:
                code_value = self.query_one("#code", Input).value.strip()
                await api.auth.verify_mfa(self._mfa_token, code_value)
        except ClientError as exc:
            error.update(str(exc))
            return
        self.dismiss(True)
