export {
  applyTopicChanges,
  type BrokerTopic,
  describeChange,
  planTopicChanges,
  readBrokerTopics,
  type TopicChange,
} from './apply.ts';
export { DlqHeader } from './dlq.ts';
export {
  loadTopicSpecs,
  type ResolvedTopic,
  resolveTopics,
  type TopicRole,
  type TopicSpec,
  topicRoles,
} from './spec.ts';
