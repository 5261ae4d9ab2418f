#!/usr/bin/env python3
"""The scikit-learn baseline for `halo-triage learn` (docs/learning.md).

TF-IDF (word 1-2-grams, sublinear tf, min_df 2) + LinearSVC, trained on FIT and measured on
VAL: macro-F1, accuracy, and coverage at precision 0.90 / 0.95 / 0.98 with the SVM
calibrated by CalibratedClassifierCV(cv=3), computed exactly as `halo-triage eval` does
(most confident first, the largest share whose precision stays at the target).

    pip install scikit-learn pandas
    python3 scripts/sklearn_baseline.py fit.csv val.csv --text Document --label Topic_group

Not run in CI: it needs Python packages, and the data set is not in the repository.
"""
import argparse
import time

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.svm import LinearSVC


def coverage(correct, confidence, target):
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    good = np.nonzero(running >= target)[0]
    return 0.0 if len(good) == 0 else (good[-1] + 1) / len(order)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("fit")
    parser.add_argument("val")
    parser.add_argument("--text", required=True)
    parser.add_argument("--label", required=True)
    args = parser.parse_args()
    fit, val = pd.read_csv(args.fit), pd.read_csv(args.val)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    started = time.perf_counter()
    x_fit = vectorizer.fit_transform(fit[args.text].fillna(""))
    x_val = vectorizer.transform(val[args.text].fillna(""))
    svm = LinearSVC().fit(x_fit, fit[args.label])
    predicted = svm.predict(x_val)
    trained = time.perf_counter() - started
    truth = val[args.label].to_numpy()
    print(f"LinearSVC: macro-F1 {f1_score(truth, predicted, average='macro'):.4f}, "
          f"accuracy {accuracy_score(truth, predicted):.4f} ({trained:.1f} s)")
    started = time.perf_counter()
    calibrated = CalibratedClassifierCV(LinearSVC(), cv=3).fit(x_fit, fit[args.label])
    probabilities = calibrated.predict_proba(x_val)
    labels = calibrated.classes_[probabilities.argmax(axis=1)]
    confidence = probabilities.max(axis=1)
    correct = (labels == truth).astype(float)
    print(f"calibrated LinearSVC (cv=3): macro-F1 {f1_score(truth, labels, average='macro'):.4f}, "
          f"accuracy {accuracy_score(truth, labels):.4f} ({time.perf_counter() - started:.1f} s)")
    for target in (0.90, 0.95, 0.98):
        print(f"  coverage at precision {target:.2f}: {100 * coverage(correct, confidence, target):.1f}%")


if __name__ == "__main__":
    main()
