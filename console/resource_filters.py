"""The resources view's server-side filters, as typed after `:res`.

`:res type=ec2 region=eu-west-1 tag=env:prod web` asks the server for EC2 instances in
eu-west-1 tagged env=prod whose name or provider id contains "web". Keys: account (an id
or a name), type (a type or its first letters: ec2, rds, lambda, s3, lb), region, state,
tag (key:value, or key alone), q; words without `=` are the q. `:res all` clears them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from shared.api.resources import ResourceRead, ResourceType

CLEAR_WORDS = ("all", "clear", "-")
TYPE_ALIASES: dict[str, ResourceType] = {
    "ec2": ResourceType.ec2_instance,
    "rds": ResourceType.rds_instance,
    "lambda": ResourceType.lambda_function,
    "s3": ResourceType.s3_bucket,
    "lb": ResourceType.load_balancer,
    "elb": ResourceType.load_balancer,
    "alb": ResourceType.load_balancer,
    "nlb": ResourceType.load_balancer,
}


def resource_type(word: str) -> ResourceType:
    """A type by its name, an alias (ec2, lb) or the unique start of its name."""
    word = word.lower()
    if word in TYPE_ALIASES:
        return TYPE_ALIASES[word]
    matches = [kind for kind in ResourceType if kind.value.startswith(word)]
    if len(matches) != 1:
        known = ", ".join(kind.value for kind in ResourceType)
        raise ValueError(f"type={word}: not a resource type ({known})")
    return matches[0]


@dataclass(frozen=True)
class ResourceFilters:
    """What the server is asked to narrow the list to; None: not narrowed."""

    account: str | None = None  # an account id, or its name until resolved
    type: ResourceType | None = None
    region: str | None = None
    state: str | None = None
    tag: str | None = None
    q: str | None = None

    @classmethod
    def parse(cls, text: str) -> ResourceFilters:
        """The filters a command line's words ask for; ValueError says which word is wrong."""
        found: dict[str, Any] = {}
        words: list[str] = []
        known = {field.name for field in fields(cls)}
        for token in text.split():
            key, sep, value = token.partition("=")
            if not sep:
                words.append(token)
                continue
            key = key.lower()
            if key == "name":
                key = "q"
            if key not in known:
                raise ValueError(f"{key}=: filter by {', '.join(sorted(known))}")
            if not value:
                raise ValueError(f"{key}= needs a value")
            found[key] = resource_type(value) if key == "type" else value
        if words:
            if "q" in found:
                raise ValueError("give the name once: q=... or plain words")
            found["q"] = " ".join(words)
        return cls(**found)

    @property
    def account_id(self) -> int | None:
        return int(self.account) if self.account and self.account.isdigit() else None

    def with_account(self, account_id: int) -> ResourceFilters:
        return replace(self, account=str(account_id))

    def describe(self) -> str:
        """`type=ec2_instance region=eu-west-1`, as typed back."""
        return " ".join(
            f"{field.name}={getattr(self, field.name)}"
            for field in fields(self)
            if getattr(self, field.name) is not None
        )

    def query(self) -> dict[str, Any]:
        """The list endpoint's keyword arguments (the account resolved to an id first)."""
        return {
            "account_id": self.account_id,
            "type": self.type,
            "region": self.region,
            "state": self.state,
            "tag": self.tag,
            "q": self.q,
        }

    def keeps(self, resource: ResourceRead) -> bool:
        """Whether the server would list `resource` (for one that appears by a live event)."""
        if self.account_id is not None and resource.account_id != self.account_id:
            return False
        if self.type is not None and resource.type is not self.type:
            return False
        if self.region is not None and resource.region != self.region:
            return False
        if self.state is not None and resource.state != self.state:
            return False
        if self.tag is not None:
            key, sep, value = self.tag.partition(":")
            if key not in resource.tags or (sep and resource.tags[key] != value):
                return False
        if self.q is not None:
            needle = self.q.lower()
            return needle in resource.name.lower() or needle in resource.provider_id.lower()
        return True
