"""Classification metrics of a test run: confusion matrix, per-class precision, recall and F1.

For class c with TP_c true positives, FP_c false positives and FN_c false negatives:
precision_c = TP_c / (TP_c + FP_c), recall_c = TP_c / (TP_c + FN_c),
F1_c = 2 precision_c recall_c / (precision_c + recall_c); a ratio with a zero
denominator is 0.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["classification_metrics", "format_metrics_table"]


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """``{"accuracy", "macro_f1", "per_class", "confusion_matrix"}`` of integer labels in ``[0, len(classes))``.

    The confusion matrix has the true class in rows and the predicted class in columns;
    ``per_class[name]`` holds precision, recall, F1 and support (the count in truth); the
    macro F1 is the mean F1 over the classes that occur in truth or prediction.
    """
    k = len(classes)
    cm = np.bincount(np.asarray(y_true) * k + np.asarray(y_pred), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    present = (predicted + actual) > 0
    per_class = {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                        "support": int(actual[i])} for i, name in enumerate(classes)}
    return {"accuracy": float(tp.sum() / max(1, cm.sum())),
            "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
            "per_class": per_class, "confusion_matrix": cm.tolist()}


def format_metrics_table(metrics: dict[str, Any]) -> str:
    """The per-class table with the macro F1, then the confusion matrix, as text."""
    names = list(metrics["per_class"])
    width = max(12, *(len(n) for n in names))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for name, m in metrics["per_class"].items():
        lines.append(f"{name:<{width}}  {m['precision']:9.3f}  {m['recall']:6.3f}  {m['f1']:5.3f}  {m['support']:7d}")
    lines.append(f"{'macro F1':<{width}}  {'':9}  {'':6}  {metrics['macro_f1']:5.3f}")
    cm = np.asarray(metrics["confusion_matrix"])
    cell = max(4, len(str(cm.max())) + 1)
    lines += ["", "confusion matrix (rows: true class, columns: predicted class, in the order above)",
              " " * (width + 2) + "".join(f"{j:>{cell}}" for j in range(len(names)))]
    lines += [f"{name:<{width}}  " + "".join(f"{v:>{cell}}" for v in row) for name, row in zip(names, cm)]
    return "\n".join(lines)
