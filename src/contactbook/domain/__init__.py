"""The domain: entities, value objects and the rules of facilities. No I/O."""
