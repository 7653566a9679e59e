"""The model registry's tables: versions with their manifests, artifacts by content, the active version."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row: bumped by every change, so a process learns that something changed from one small read.
registry_state = sa.Table(
    "registry_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
)

# Files by content: versions that share a file (a customer table) store it once.
model_blobs = sa.Table(
    "model_blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    # The manifest as JSON: what the version is, its files' sha256, libraries, metrics and details.
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)

model_files = sa.Table(
    "model_files",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("filename", sa.String(128), primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("model_blobs.sha256"), nullable=False),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE"),
)

active_versions = sa.Table(
    "active_versions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"]),
)
