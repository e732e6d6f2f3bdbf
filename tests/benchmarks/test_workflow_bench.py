"""The workflow benchmark's split of a training job's time, on a hand-made job."""

from benchmarks.workflow import read_benchmarks, seeds_per_run, train_seconds, training_time


def test_a_training_jobs_seconds_split_into_start_up_compile_and_epochs(tmp_path):
    bench = tmp_path / "benchmarks" / "train" / "v2" / "cnn"
    bench.mkdir(parents=True)
    (bench / "seed0.tsv").write_text("s\th:m:s\tmax_rss\n30.0\t0:00:30\t512.5\n")
    hist = tmp_path / "train" / "v2" / "cnn" / "seed0"
    hist.mkdir(parents=True)
    rows = ["epoch,seconds", "1,9.0", "2,2.0", "3,3.0", "4,2.5"]  # first epoch compiles
    (hist / "history.csv").write_text("\n".join(rows) + "\n")
    jobs = read_benchmarks(tmp_path)
    assert jobs == [
        {"job": "train/v2/cnn/seed0", "rule": "train", "seconds": 30.0, "max_rss_mib": 512.5}
    ]
    (t,) = training_time(tmp_path, jobs)
    # epochs 9 + 2 + 3 + 2.5 = 16.5 s of 30; median after the first 2.5, so compile 9 - 2.5
    assert t["epochs"] == 4 and t["median_epoch_seconds"] == 2.5
    assert t["startup_seconds"] == 30.0 - 16.5 and t["compile_seconds"] == 6.5


def test_the_seeds_of_each_run_and_the_training_seconds_are_counted_by_job():
    jobs = [
        {"job": "train/v2/cnn/seed0", "rule": "train", "seconds": 10.0},
        {"job": "train/v2/cnn/seed1", "rule": "train", "seconds": 12.0},
        {"job": "train/v4/vit/seed0", "rule": "train", "seconds": 5.0},
        {"job": "eval/v2/cnn/seed0", "rule": "eval", "seconds": 3.0},
    ]
    assert seeds_per_run(jobs) == {"v2/cnn": 2, "v4/vit": 1}
    assert train_seconds(jobs) == 27.0
    # a train_seeds job (training.vmap_seeds) writes its benchmark under train/ too
    vmapped = [{"job": "train/v2/cnn/seeds", "rule": "train", "seconds": 15.0}]
    assert train_seconds(vmapped) == 15.0 and seeds_per_run(vmapped) == {"v2/cnn": 1}
