package main

import (
	"flag"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

type (
	flagT = flag.Flag
	plotT = plot.Plot
)

const inch = vg.Inch
