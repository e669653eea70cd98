"""`noloop demo` runs offline and shows the table and the training run."""

from noloop.demo import load_digit_split, run_demo


def test_demo_reports_agreeing_twins_a_model_better_than_the_majority_and_plots(tmp_path):
    # the one run of the demo in the suite: everything it promises is checked here
    lines = []
    result = run_demo(lines.append, quick=True, plots_dir=tmp_path / "pictures")
    text = "\n".join(lines)
    for example in ["dot", "matvec", "exp", "gradient"]:
        assert example in text
    assert "NO (differ" not in text
    assert "cost after iteration     0: 0.693147" in text  # ln 2 from w = 0, b = 0
    split = load_digit_split()
    majority = 1 - split.Y_test.mean()
    assert result["test_accuracy"] > majority + 0.05
    # the estimator section: noloop and scikit-learn side by side, binary and ten classes
    for task in ["'3' vs rest", "all ten digits"]:
        ours = result[f"{task}_noloop_test_accuracy"]
        theirs = result[f"{task}_scikit-learn_test_accuracy"]
        assert abs(ours - theirs) <= 0.005
    assert result["all ten digits_noloop_test_accuracy"] > 0.9
    for name in ["cost_curve.png", "learning_rates.png", "speedups.png"]:
        assert (tmp_path / "pictures" / name).read_bytes()[:4] == b"\x89PNG"
