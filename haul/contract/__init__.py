"""The wire shapes every haul service and client shares."""
