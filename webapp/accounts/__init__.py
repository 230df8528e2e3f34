"""Account administration: who can sign in, with which role."""
