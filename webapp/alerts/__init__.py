"""Fall and decline risk scores, change alerts and their review by a coordinator."""
