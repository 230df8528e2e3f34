"""Care plans (plans d'aide) and the visits they generate."""
