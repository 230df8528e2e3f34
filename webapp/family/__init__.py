"""What care recipients and their families see."""
