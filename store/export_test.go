package store

// TimeColumns lists every column rewritten by migration 0009, as
// "table.column".
func TimeColumns() []string {
	var out []string
	for _, tc := range timeColumns {
		for _, c := range tc.cols {
			out = append(out, tc.table+"."+c)
		}
	}
	return out
}
