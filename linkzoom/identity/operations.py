"""The device sign-in routes as the OpenAPI document describes them."""

from __future__ import annotations

from linkzoom.http.operation import DATABASE, JSON_BODY, NO_STORE, SIGNED_IN, Operation, Reply
from linkzoom.identity.bodies import MeAnswer, SessionAnswer, SessionBody
from linkzoom.problems import InvalidCredentials, TooManyAttempts

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="POST",
        path="/api/v1/sessions",
        operation_id="sessionCreate",
        summary="Sign a device in with a username and password; answers its bearer token.",
        tag="identity",
        request=SessionBody,
        replies=(
            Reply(status=201, description="Signed in.", model=SessionAnswer, headers=NO_STORE),
        ),
        problems=(*JSON_BODY, InvalidCredentials, TooManyAttempts, *DATABASE),
    ),
    Operation(
        method="DELETE",
        path="/api/v1/sessions/current",
        operation_id="sessionDelete",
        summary="Sign this device out.",
        tag="identity",
        bearer=True,
        replies=(Reply(status=204, description="Signed out."),),
        problems=SIGNED_IN,
    ),
    Operation(
        method="GET",
        path="/api/v1/me",
        operation_id="me",
        summary="The signed-in user and the state of their Zoom link.",
        tag="identity",
        bearer=True,
        replies=(Reply(status=200, description="The user.", model=MeAnswer),),
        problems=SIGNED_IN,
    ),
)
