"""Offline: the service worker, the web app manifest, the offline page and the phone flags."""
