"""Sign-in (password, then TOTP for those who use it), lockout, sessions, language."""
