"""What the use cases share and front ends never call: access checks, recording of
audit events, argument checks, outbox composition, paging, look-ups, read-model
builders. Nothing here is public API; the capability modules one level up are."""
