"""The Dockerfile builder: parser (text → nodes), shell-word expansion, evaluation (later)."""
