"""The demo SAAD: a believable service on the real OpenStreetMap extract around Monaco."""
