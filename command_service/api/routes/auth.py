"""Sign in: the OAuth2 password flow issues a short-lived access token."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from command_service.api.deps import DepsDep
from libs.auth.passwords import MAX_PASSWORD, verify_password
from libs.auth.tokens import ACCESS_TTL_S, issue_access_token
from libs.http.problems import Problem

router = APIRouter(prefix="/v1/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = ACCESS_TTL_S


@router.post("/token", response_model=TokenResponse)
async def token(
    deps: DepsDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    """Exchange an e-mail and password for a bearer access token."""
    if len(form.username) > 254 or len(form.password) > MAX_PASSWORD:
        raise Problem(401, "auth.invalid_credentials", "Wrong e-mail or password.")
    found = await deps.credentials.find(form.username)
    if found is None or not await asyncio.to_thread(verify_password, found[1], form.password):
        raise Problem(401, "auth.invalid_credentials", "Wrong e-mail or password.")
    return TokenResponse(
        access_token=issue_access_token(deps.token_secret, found[0], deps.registry)
    )
