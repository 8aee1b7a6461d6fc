# m365export on Google Cloud: a Cloud Run Job run daily by Cloud Scheduler.
# The job's service account signs in to Entra ID (--auth federated-gcp:
# its Google ID token is the federated credential's assertion) and writes
# the buckets; salt and key come from Secret Manager. See README.md;
# deploy/terraform_test.go checks this file.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

variable "project" {
  type        = string
  description = "Google Cloud project id"
}

variable "region" {
  type    = string
  default = "europe-west1"
}

variable "image" {
  type        = string
  description = "the exporter's image (make image, pushed to Artifact Registry)"
}

variable "tenant_id" {
  type = string
}

variable "client_id" {
  type        = string
  description = "the Entra application's Application (client) ID"
}

variable "dest" {
  type        = string
  description = "bucket URL of the Parquet output, e.g. gs://analytics/m365"
}

variable "state" {
  type        = string
  description = "bucket URL of the exporter's state, e.g. gs://ops/m365export-state"
}

variable "shards" {
  type        = number
  default     = 1
  description = "tasks per execution; each exports one shard of the owners"
}

# The exporter's identity: its numeric unique_id is the subject of the
# Entra application's federated credential (issuer https://accounts.google.com,
# audience api://AzureADTokenExchange).
resource "google_service_account" "exporter" {
  account_id   = "m365export"
  display_name = "m365export"
}

# Cloud Scheduler's identity, allowed to start the job and nothing else.
resource "google_service_account" "scheduler" {
  account_id   = "m365export-scheduler"
  display_name = "m365export scheduler"
}

resource "google_secret_manager_secret" "salt" {
  secret_id = "m365export-salt"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "key" {
  secret_id = "m365export-key"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "salt" {
  secret_id = google_secret_manager_secret.salt.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.exporter.email}"
}

resource "google_secret_manager_secret_iam_member" "key" {
  secret_id = google_secret_manager_secret.key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.exporter.email}"
}

resource "google_cloud_run_v2_job" "exporter" {
  name     = "m365export"
  location = var.region

  template {
    # One task per shard: Cloud Run sets CLOUD_RUN_TASK_INDEX and
    # CLOUD_RUN_TASK_COUNT, which the exporter takes as --shard and
    # --shards, and CLOUD_RUN_EXECUTION, its run id.
    task_count  = var.shards
    parallelism = var.shards

    template {
      service_account = google_service_account.exporter.email
      # Per attempt of a task; a daily run of a large tenant takes hours.
      timeout = "21600s"
      # Cloud Run retries a task after any non-zero exit, exit 2 too: a
      # configuration error then fails max_retries + 1 times (README.md).
      max_retries = 3

      containers {
        image = var.image
        args = [
          "--connector=all",
          "--dest=${var.dest}",
          "--state=${var.state}",
          "--tenant-id=${var.tenant_id}",
          "--client-id=${var.client_id}",
          "--auth=federated-gcp",
          "--salt-url=gcpsecretmanager://projects/${var.project}/secrets/${google_secret_manager_secret.salt.secret_id}?decoder=string",
          "--key-url=gcpsecretmanager://projects/${var.project}/secrets/${google_secret_manager_secret.key.secret_id}?decoder=string",
          # Cloud Run kills a task 10s after SIGTERM.
          "--grace-period=8s",
          "--memory-limit=auto",
          "--log-format=json",
        ]
        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }
      }
    }
  }
}

resource "google_cloud_run_v2_job_iam_member" "scheduler" {
  name     = google_cloud_run_v2_job.exporter.name
  location = google_cloud_run_v2_job.exporter.location
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "daily" {
  name      = "m365export-daily"
  region    = var.region
  schedule  = "30 2 * * *"
  time_zone = "Etc/UTC"
  # Cloud Scheduler only starts the execution; Cloud Run retries tasks.
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project}/locations/${var.region}/jobs/${google_cloud_run_v2_job.exporter.name}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler.email
    }
  }
}

output "federated_credential_subject" {
  description = "subject of the Entra application's federated credential (issuer https://accounts.google.com)"
  value       = google_service_account.exporter.unique_id
}
