"""Identities as ADO shows them: IdentityRef objects in REST 7.1, `Name <unique>` in hook payloads 1.0."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Mapping
from typing import Any, TypeGuard

_NAMESPACE = uuid.UUID("6c0ed3a3-6a44-4e2b-9f51-6a8f0a5d1f00")
_NAME_AND_MAIL = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<mail>[^>]+)>\s*$")


def split(person: str) -> tuple[str, str]:
    """(display name, unique name) from `Pat Tester <pat@x>`, `pat@x` or `Pat Tester`."""
    match = _NAME_AND_MAIL.match(person)
    if match:
        return match.group("name") or match.group("mail"), match.group("mail")
    if "@" in person:
        return person.split("@", 1)[0], person
    slug = ".".join(person.lower().split()) or "unknown"
    return person, f"{slug}@mhhs.example"


def identity_ref(person: str, base: str) -> dict[str, Any]:
    """The IdentityRef REST 7.1 returns for identity fields (System.ChangedBy, System.AssignedTo, …)."""
    display, unique = split(person)
    ident, descriptor = _ids(unique.lower())
    avatar = f"{base}/_apis/GraphProfile/MemberAvatars/{descriptor}"
    return {
        "displayName": display,
        "url": f"{base}/_apis/Identities/{ident}",
        "_links": {"avatar": {"href": avatar}},
        "id": ident,
        "uniqueName": unique,
        "imageUrl": avatar,
        "descriptor": descriptor,
    }


@functools.lru_cache(maxsize=1024)
def _ids(unique: str) -> tuple[str, str]:
    """A person's identity id (stable per unique name) and descriptor; cached, as every work item a
    batch read renders names the same few people."""
    ident = str(uuid.uuid5(_NAMESPACE, unique))
    return ident, f"aad.{ident.replace('-', '')[:32]}"


def person(who: str) -> dict[str, str]:
    """The stored form of an identity; URLs are added when shown, so they follow the server's address."""
    display, unique = split(who)
    return {"displayName": display, "uniqueName": unique}


def expand(value: Any, base: str) -> Any:
    """An identity (stored or shown) as the full IdentityRef; any other value unchanged."""
    if is_identity(value):
        return identity_ref(as_text(value), base)
    return value


def as_text(value: Mapping[str, Any]) -> str:
    """`Display Name <unique>`, the form identity fields take in service hook payloads 1.0."""
    return f"{value.get('displayName', '')} <{value.get('uniqueName', '')}>"


def is_identity(value: object) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(value, Mapping) and "uniqueName" in value and "displayName" in value
