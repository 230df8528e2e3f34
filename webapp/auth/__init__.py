"""Sign-in, sign-out, language and password hashing."""
