// Command docgen writes the data dictionary of every exported table to
// standard output: go run ./jobs/tables/cmd/docgen > docs/data-dictionary.md
package main

import (
	"fmt"
	"os"

	"m365export/jobs/tables"
)

func main() {
	if err := tables.WriteDictionary(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}
