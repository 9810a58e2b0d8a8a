from __future__ import annotations

from loadtests.payloads import PayloadSampler, load_holdout


def test_batches_are_held_out_rows_of_the_asked_size_and_vary() -> None:
    holdout = load_holdout()
    sampler = PayloadSampler(holdout, batch_size=4, seed=1)
    bodies = [sampler.next_body() for _ in range(20)]
    assert all(len(body["instances"]) == 4 for body in bodies)
    assert all(row in holdout.rows for body in bodies for row in body["instances"])
    assert len({str(body) for body in bodies}) > 1
    assert all(len(row) == len(holdout.feature_names) for row in bodies[0]["instances"])
