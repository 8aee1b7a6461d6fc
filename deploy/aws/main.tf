# m365export on AWS: a daily ECS (Fargate) task started by EventBridge
# Scheduler, and a Batch array job for a sharded run. The task's role asks
# Amazon Cognito for an OpenID token of a developer identity
# (--auth federated-aws), which the Entra application's federated credential
# trusts; salt and key come from Secrets Manager. See README.md;
# deploy/terraform_test.go checks this file.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "image" {
  type        = string
  description = "the exporter's image (make image, pushed to ECR)"
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
  description = "bucket URL of the Parquet output, e.g. s3://analytics/m365?region=us-east-1"
}

variable "state" {
  type        = string
  description = "bucket URL of the exporter's state, e.g. s3://ops/m365export-state?region=us-east-1"
}

variable "bucket_arns" {
  type        = list(string)
  description = "ARNs of the output and state buckets"
}

variable "subnets" {
  type = list(string)
}

variable "security_groups" {
  type = list(string)
}

variable "shards" {
  type        = number
  default     = 4
  description = "array size of the sharded Batch job"
}

locals {
  developer_provider = "m365export"
  args = [
    "--connector=all",
    "--dest=${var.dest}",
    "--state=${var.state}",
    "--tenant-id=${var.tenant_id}",
    "--client-id=${var.client_id}",
    "--auth=federated-aws",
    "--aws-identity-pool=${aws_cognito_identity_pool.exporter.id}",
    "--aws-developer-provider=${local.developer_provider}",
    "--aws-region=${var.region}",
    "--salt-url=awssecretsmanager://${aws_secretsmanager_secret.salt.name}?region=${var.region}&decoder=string",
    "--key-url=awssecretsmanager://${aws_secretsmanager_secret.key.name}?region=${var.region}&decoder=string",
    # ECS and Batch send SIGKILL 30s after SIGTERM by default.
    "--grace-period=25s",
    "--memory-limit=auto",
    "--log-format=json",
  ]
}

# The identity pool whose developer identities sign in to Entra ID: the
# federated credential's issuer is https://cognito-identity.amazonaws.com,
# its audience this pool's id, its subject the identity id bound to the
# client id (README.md says how to find it).
resource "aws_cognito_identity_pool" "exporter" {
  identity_pool_name               = "m365export"
  allow_unauthenticated_identities = false
  developer_provider_name          = local.developer_provider
}

resource "aws_secretsmanager_secret" "salt" {
  name = "m365export-salt"
}

resource "aws_secretsmanager_secret" "key" {
  name = "m365export-key"
}

data "aws_iam_policy_document" "assume_task" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# The exporter's role (ECS task role, Batch job role).
resource "aws_iam_role" "task" {
  name               = "m365export-task"
  assume_role_policy = data.aws_iam_policy_document.assume_task.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "SignInToEntraThroughCognito"
    actions   = ["cognito-identity:GetOpenIdTokenForDeveloperIdentity"]
    resources = [aws_cognito_identity_pool.exporter.arn]
  }
  statement {
    sid       = "ReadSaltAndKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.salt.arn, aws_secretsmanager_secret.key.arn]
  }
  statement {
    sid       = "Buckets"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:AbortMultipartUpload"]
    resources = concat(var.bucket_arns, [for b in var.bucket_arns : "${b}/*"])
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "m365export"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ECS' own role: pull the image, write the logs.
resource "aws_iam_role" "execution" {
  name               = "m365export-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_task.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_cloudwatch_log_group" "exporter" {
  name              = "/m365export"
  retention_in_days = 30
}

# ---------------------------------------------------------------------------
# Daily run: EventBridge Scheduler starts one ECS task.

resource "aws_ecs_cluster" "exporter" {
  name = "m365export"
}

resource "aws_ecs_task_definition" "exporter" {
  family                   = "m365export"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = "1024"
  memory                   = "2048"
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([{
    name                   = "m365export"
    image                  = var.image
    command                = local.args
    essential              = true
    readonlyRootFilesystem = true
    user                   = "65532:65532"
    stopTimeout            = 30
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.exporter.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "ecs"
      }
    }
  }])
}

data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "m365export-scheduler"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    actions   = ["ecs:RunTask"]
    resources = [aws_ecs_task_definition.exporter.arn_without_revision, "${aws_ecs_task_definition.exporter.arn_without_revision}:*"]
  }
  statement {
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task.arn, aws_iam_role.execution.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "m365export-run-task"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "daily" {
  name                         = "m365export-daily"
  schedule_expression          = "cron(30 2 * * ? *)"
  schedule_expression_timezone = "Etc/UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_ecs_cluster.exporter.arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.exporter.arn_without_revision
      launch_type         = "FARGATE"
      network_configuration {
        subnets          = var.subnets
        security_groups  = var.security_groups
        assign_public_ip = false
      }
    }

    # Starting the task is retried; the task's own exit is final (ECS does
    # not rerun a stopped task): the next day's run picks up the window.
    retry_policy {
      maximum_retry_attempts       = 3
      maximum_event_age_in_seconds = 3600
    }
  }
}

# ---------------------------------------------------------------------------
# Sharded run: a Batch array job (aws batch submit-job
# --array-properties size=N); each child gets AWS_BATCH_JOB_ARRAY_INDEX.

resource "aws_batch_compute_environment" "exporter" {
  name = "m365export"
  type = "MANAGED"

  compute_resources {
    type               = "FARGATE"
    max_vcpus          = 16
    subnets            = var.subnets
    security_group_ids = var.security_groups
  }
}

resource "aws_batch_job_queue" "exporter" {
  name     = "m365export"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.exporter.arn
  }
}

resource "aws_batch_job_definition" "sharded" {
  name                  = "m365export-sharded"
  type                  = "container"
  platform_capabilities = ["FARGATE"]

  # Exit 2 (usage or configuration) ends the job: a retry cannot help.
  # Exit 1 (failed) and 3 (partial) are retried, so is a lost host.
  retry_strategy {
    attempts = 4
    evaluate_on_exit {
      on_exit_code = "2"
      action       = "EXIT"
    }
    evaluate_on_exit {
      on_exit_code = "1"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_exit_code = "3"
      action       = "RETRY"
    }
    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }
  }

  timeout {
    attempt_duration_seconds = 86400
  }

  container_properties = jsonencode({
    image                  = var.image
    command                = concat(local.args, ["--shards=${var.shards}"])
    jobRoleArn             = aws_iam_role.task.arn
    executionRoleArn       = aws_iam_role.execution.arn
    readonlyRootFilesystem = true
    user                   = "65532:65532"
    runtimePlatform = {
      operatingSystemFamily = "LINUX"
      cpuArchitecture       = "ARM64"
    }
    resourceRequirements = [
      { type = "VCPU", value = "1" },
      { type = "MEMORY", value = "2048" },
    ]
    networkConfiguration = { assignPublicIp = "DISABLED" }
  })
}

output "identity_pool_id" {
  description = "the audience of the Entra application's federated credential"
  value       = aws_cognito_identity_pool.exporter.id
}
