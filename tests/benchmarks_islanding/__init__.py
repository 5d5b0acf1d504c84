"""Tests of the islanding benchmark."""
