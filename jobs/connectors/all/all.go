// Package all registers every connector: import it for its side effects.
package all

import (
	// The connectors, each registering itself in init.
	_ "m365export/jobs/connectors/entraid"
	_ "m365export/jobs/connectors/msftcopilot"
	_ "m365export/jobs/connectors/msftteams"
	_ "m365export/jobs/connectors/outlookcal"
	_ "m365export/jobs/connectors/outlookmail"
)
