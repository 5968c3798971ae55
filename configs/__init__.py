"""Packaged YAML configs, one per command; read them with :func:`eegaffect.config.load_config`."""
