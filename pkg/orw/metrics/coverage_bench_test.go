package metrics

import "testing"

// BenchmarkCoverage times the four numbers of 1,000 samples against 2,000
// real points of 64 features, about an evaluator's workload.
func BenchmarkCoverage(b *testing.B) {
	real, fake := cloud(1, 2000, 64, 0), cloud(2, 1000, 64, 0.1)
	for b.Loop() {
		if _, _, err := PrecisionRecall(real, fake, DefaultNeighbours); err != nil {
			b.Fatal(err)
		}
		if _, _, err := DensityCoverage(real, fake, DefaultNeighbours); err != nil {
			b.Fatal(err)
		}
		if _, err := Vendi(fake); err != nil {
			b.Fatal(err)
		}
	}
}
