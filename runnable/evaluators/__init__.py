"""Built-in evaluators (exact match, regex, JSON schema, similarity) and their settings."""

from runnable.evaluators.builtins import (
    BUILTIN_EVALUATORS,
    BuiltinEvaluator,
    get_builtin_evaluator,
    run_builtin_evaluator,
)

__all__ = [
    "BUILTIN_EVALUATORS",
    "BuiltinEvaluator",
    "get_builtin_evaluator",
    "run_builtin_evaluator",
]
