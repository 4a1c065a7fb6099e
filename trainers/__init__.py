"""Thin trainers on transformers' Trainer; they read factory tables and prompt formats only."""
