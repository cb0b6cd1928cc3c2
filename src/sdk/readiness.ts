/**
 * The readiness and drain shapes a node serves (`GET /readyz`, `GET /v1/admin/drain`), as Effect
 * Schemas for SDK users: `Schema.decodeUnknown(ReadinessReport)(await res.json())`.
 */
export {
  DrainStatus,
  DrainStepName,
  DrainStepReport,
  ReadinessConditionName,
  ReadinessConditions,
  ReadinessReport,
} from "../../schemas/readiness.ts"
