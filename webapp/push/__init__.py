"""Web Push reminders (VAPID), notification preferences and the in-app notification list."""
