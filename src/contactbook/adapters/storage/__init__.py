"""Storage adapters: implementations of :class:`contactbook.ports.storage.Storage`.

``memory`` keeps everything in dictionaries (tests, demos, ``memory://``).
Every adapter passes :class:`contactbook.testing.storage_contract.StorageContract`.
Submodules are not imported here, so choosing one adapter never loads another's
libraries.
"""
