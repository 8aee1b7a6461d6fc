package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"m365export/jobs/connector"
	"m365export/pipeline"
)

// A run of some of a connector's tables (--tables) keeps its own state
// (watermark, pending run, checkpoints: newStateStore, newCheckpointStore
// with Config.tablesKey) and run id (runner.runID), so that it neither
// moves the connector's watermark past tables it did not export nor
// replaces a full run's checkpoints or summary. Its output partitions are
// its tables' own, as in any run.

// checkTablesSeries refuses a --tables run whose salt or rules differ from
// those of the connector's state (its full runs'): its pseudonyms would
// not join with theirs. st is the --tables run's own state, whose series
// runConnector checks itself; --new-series lets the run start anyway.
func (r *runner) checkTablesSeries(ctx context.Context, spec *connector.Connector, st *state, salt, rulesHash string) error {
	cfg := r.cfg
	if r.state == nil || cfg.NewSeries || st != nil || cfg.tablesKey(spec) == "" {
		return nil
	}
	full, err := newStateStore(r.state, spec.Name, "", cfg.Shard, cfg.Shards).load(ctx)
	if err != nil || full == nil {
		return err
	}
	if full.SaltFingerprint == salt && full.RulesHash == rulesHash {
		return nil
	}
	what := "salt"
	if full.SaltFingerprint == salt {
		what = "rules (or --email-domains, or the domain salt)"
	}
	return fmt.Errorf("%w: --tables: the %s changed since %s's state at --state was written (pseudonyms would not join with its full runs' output); pass --new-series to export anyway", ErrUsage, what, spec.Name)
}

// retainedAdvice suggests, for a window that starts before a table's
// retention, --tables with the connector's windowed tables that Graph
// still keeps for it (snapshots, which hold the present, are left out);
// "" if there are none.
func retainedAdvice(all []connector.Collection, w pipeline.Window, now time.Time) string {
	var names []string
	for _, cs := range all {
		if cs.TimeField == "" || cs.Retention > 0 && w.From.Before(now.Add(-cs.Retention)) {
			continue
		}
		names = append(names, cs.Name)
	}
	if len(names) == 0 {
		return ""
	}
	return "; or export this window's other tables, which Graph still keeps, with --tables " + strings.Join(names, ",")
}
