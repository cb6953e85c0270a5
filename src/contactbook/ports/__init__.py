"""The interfaces the core needs, as ``typing.Protocol``s; adapters never inherit them."""
