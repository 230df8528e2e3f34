"""GDPR rights: access (export), rectification (the edit forms), erasure; retention periods."""
