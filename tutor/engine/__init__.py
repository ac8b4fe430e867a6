"""The tutor engine: context building, prompts, the offline tutor, output guards, release routing."""
