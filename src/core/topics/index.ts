export {
  applyTopicChanges,
  type BrokerTopic,
  describeChange,
  planTopicChanges,
  readBrokerTopics,
  type TopicChange,
} from './apply.ts';
export {
  loadTopicSpecs,
  type ResolvedTopic,
  resolveTopics,
  type TopicRole,
  type TopicSpec,
  topicRoles,
} from './spec.ts';
