"""The local user directory and the local mirror of directory (LDAP) users."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.identity.ldap import DirectoryUser
from linkzoom.identity.passwords import hash_password
from linkzoom.identity.usernames import normalise_username
from linkzoom.problems import ValidationFailed
from linkzoom.store.models import User

MIN_PASSWORD = 10


async def by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def add_local(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    now: datetime,
    is_admin: bool = False,
    email: str | None = None,
    display_name: str | None = None,
) -> User:
    name = normalise_username(username)
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one("password", f"must be at least {MIN_PASSWORD} characters")
    if await by_username(session, name) is not None:
        raise ValidationFailed.one("username", f"{name!r} already exists")
    user = User(
        username=name,
        display_name=display_name or username.strip(),
        email=email,
        is_admin=is_admin,
        source="local",
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(user)
    await session.flush()
    return user


async def upsert_directory_user(
    session: AsyncSession, found: DirectoryUser, *, now: datetime
) -> User:
    """Mirror what the directory says on every login: it is the source of truth for LDAP users."""
    user = await by_username(session, found.username)
    if user is None:
        user = User(username=found.username, source="ldap", created_at=now, password_hash=None)
        session.add(user)
    user.display_name = found.display_name
    user.email = found.email
    user.is_admin = found.is_admin
    await session.flush()
    return user


async def bootstrap_admin(session: AsyncSession, *, now: datetime) -> str | None:
    """On a first start with an empty local directory, create ``admin``; returns its password."""
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.source == "local")
    )
    if count:
        return None
    password = secrets.token_urlsafe(15)
    await add_local(
        session,
        username="admin",
        password=password,
        now=now,
        is_admin=True,
        display_name="Administrator",
    )
    return password
