"""scikit-learn's own estimator checks, run on every solver."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from noloop import LogisticRegression, LogisticRegressionCV

# Every check that is expected to fail carries its reason here.
EXPECTED_FAILURES: dict[str, str] = {}


def _expected_failures(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [
        LogisticRegression(),
        LogisticRegression(solver="newton-cholesky"),
        LogisticRegression(solver="newton-cg"),
        LogisticRegression(solver="gd"),
        LogisticRegressionCV(Cs=3, cv=3),  # small grid: the checks fit it dozens of times
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
