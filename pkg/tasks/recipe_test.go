package tasks

import (
	"encoding/json"
	"testing"
)

// TestDefaultLatentRecipeMadeTheShippedModels checks that DefaultLatentRecipe
// is the recipe recorded in the shipped latent generators of MNIST and
// Fashion-MNIST, which `orw pretrain --model latent` made with its defaults.
func TestDefaultLatentRecipeMadeTheShippedModels(t *testing.T) {
	for _, data := range []string{"mnist", "fashion"} {
		g, err := ShippedGenerator(data, "latent")
		if err != nil {
			t.Fatal(err)
		}
		shipped, err := json.Marshal(g.Meta["recipe"])
		if err != nil {
			t.Fatal(err)
		}
		var want LatentRecipe
		if err := json.Unmarshal(shipped, &want); err != nil {
			t.Fatalf("%s: the recorded recipe: %v", data, err)
		}
		got := DefaultLatentRecipe(g.ImageShape()...)
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s: DefaultLatentRecipe\n  %s\nthe shipped model's recipe\n  %s", data, a, b)
		}
	}
}
