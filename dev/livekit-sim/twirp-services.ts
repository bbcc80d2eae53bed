// The Twirp services facesign uses, method by method: request message class, the grant the real server
// checks (after decoding, as the generated Go handlers do), and the simulated behaviour. Methods LiveKit
// has but the simulator does not play answer `unimplemented` rather than `bad_route`, so "not simulated"
// is never mistaken for "does not exist".
import {
  CreateRoomRequest,
  CreateSIPOutboundTrunkRequest,
  CreateSIPParticipantRequest,
  DeleteRoomRequest,
  DeleteRoomResponse,
  DeleteSIPTrunkRequest,
  ListEgressRequest,
  ListEgressResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  ListSIPOutboundTrunkRequest,
  ListSIPOutboundTrunkResponse,
  UpdateSIPOutboundTrunkRequest,
  RemoveParticipantResponse,
  RoomCompositeEgressRequest,
  RoomParticipantIdentity,
  StopEgressRequest,
  UpdateRoomMetadataRequest,
} from '@livekit/protocol';
import type { Claims } from './auth.js';
import { requirePermission } from './auth.js';
import type { EgressService } from './egress-service.js';
import type { RoomManager } from './rooms.js';
import type { SipService } from './sip-service.js';
import type { WireFormat, WireMessage, WireMessageType } from './twirp.js';
import { TwirpError, decodeRequest } from './twirp.js';

export interface CallContext {
  claims: Claims | undefined;
}

export interface TwirpMethod {
  call(body: Buffer, format: WireFormat, context: CallContext): Promise<WireMessage>;
}

export interface TwirpService {
  /** Every method of the service in livekit/protocol, simulated or not. */
  knownMethods: ReadonlySet<string>;
  methods: ReadonlyMap<string, TwirpMethod>;
}

function method<Req extends WireMessage>(
  type: WireMessageType<Req>,
  handle: (request: Req, context: CallContext) => WireMessage | Promise<WireMessage>,
): TwirpMethod {
  return {
    async call(body, format, context) {
      return handle(decodeRequest(type, body, format), context);
    },
  };
}

export interface ServiceDependencies {
  rooms: RoomManager;
  sip: SipService;
  egress: EgressService;
}

export function buildTwirpServices({ rooms, sip, egress }: ServiceDependencies): ReadonlyMap<string, TwirpService> {
  const roomService: TwirpService = {
    knownMethods: new Set([
      'CreateRoom',
      'ListRooms',
      'DeleteRoom',
      'ListParticipants',
      'GetParticipant',
      'RemoveParticipant',
      'MutePublishedTrack',
      'UpdateParticipant',
      'UpdateSubscriptions',
      'SendData',
      'UpdateRoomMetadata',
      'ForwardParticipant',
      'MoveParticipant',
      'PerformRpc',
    ]),
    methods: new Map<string, TwirpMethod>([
      [
        'CreateRoom',
        method(CreateRoomRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomCreate' });
          if (request.name === '') throw new TwirpError('invalid_argument', 'no room name');
          return rooms.createRoom(request);
        }),
      ],
      [
        'ListRooms',
        method(ListRoomsRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomList' });
          return new ListRoomsResponse({ rooms: rooms.listRooms(request.names) });
        }),
      ],
      [
        'DeleteRoom',
        method(DeleteRoomRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomCreate' });
          rooms.deleteRoom(request.room);
          return new DeleteRoomResponse();
        }),
      ],
      [
        'ListParticipants',
        method(ListParticipantsRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomAdmin', room: request.room });
          return new ListParticipantsResponse({ participants: rooms.listParticipants(request.room) });
        }),
      ],
      [
        'GetParticipant',
        method(RoomParticipantIdentity, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomAdmin', room: request.room });
          return rooms.getParticipant(request.room, request.identity);
        }),
      ],
      [
        'RemoveParticipant',
        method(RoomParticipantIdentity, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomAdmin', room: request.room });
          rooms.removeParticipant(request.room, request.identity);
          return new RemoveParticipantResponse();
        }),
      ],
      [
        'UpdateRoomMetadata',
        method(UpdateRoomMetadataRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomAdmin', room: request.room });
          return rooms.updateRoomMetadata(request.room, request.metadata);
        }),
      ],
    ]),
  };

  const egressService: TwirpService = {
    knownMethods: new Set([
      'StartEgress',
      'UpdateLayout',
      'UpdateStream',
      'ListEgress',
      'StopEgress',
      'StartRoomCompositeEgress',
      'StartWebEgress',
      'StartParticipantEgress',
      'StartTrackCompositeEgress',
      'StartTrackEgress',
    ]),
    methods: new Map<string, TwirpMethod>([
      [
        'StartRoomCompositeEgress',
        method(RoomCompositeEgressRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomRecord' });
          return egress.startRoomComposite(request);
        }),
      ],
      [
        'StopEgress',
        method(StopEgressRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomRecord' });
          return egress.stopEgress(request);
        }),
      ],
      [
        'ListEgress',
        method(ListEgressRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'roomRecord' });
          return new ListEgressResponse({ items: egress.listEgress(request) });
        }),
      ],
    ]),
  };

  const sipService: TwirpService = {
    knownMethods: new Set([
      'ListSIPTrunk',
      'CreateSIPInboundTrunk',
      'CreateSIPOutboundTrunk',
      'UpdateSIPInboundTrunk',
      'UpdateSIPOutboundTrunk',
      'GetSIPInboundTrunk',
      'GetSIPOutboundTrunk',
      'ListSIPInboundTrunk',
      'ListSIPOutboundTrunk',
      'DeleteSIPTrunk',
      'CreateSIPDispatchRule',
      'UpdateSIPDispatchRule',
      'ListSIPDispatchRule',
      'DeleteSIPDispatchRule',
      'CreateSIPParticipant',
      'TransferSIPParticipant',
    ]),
    methods: new Map<string, TwirpMethod>([
      [
        'CreateSIPOutboundTrunk',
        method(CreateSIPOutboundTrunkRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'sipAdmin' });
          return sip.createOutboundTrunk(request);
        }),
      ],
      [
        'ListSIPOutboundTrunk',
        method(ListSIPOutboundTrunkRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'sipAdmin' });
          return new ListSIPOutboundTrunkResponse({ items: sip.listOutboundTrunks(request) });
        }),
      ],
      [
        'UpdateSIPOutboundTrunk',
        method(UpdateSIPOutboundTrunkRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'sipAdmin' });
          return sip.updateOutboundTrunk(request);
        }),
      ],
      [
        'DeleteSIPTrunk',
        method(DeleteSIPTrunkRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'sipAdmin' });
          return sip.deleteTrunk(request);
        }),
      ],
      [
        'CreateSIPParticipant',
        method(CreateSIPParticipantRequest, (request, { claims }) => {
          requirePermission(claims, { grant: 'sipCall' });
          return sip.createParticipant(request);
        }),
      ],
    ]),
  };

  return new Map([
    ['livekit.RoomService', roomService],
    ['livekit.Egress', egressService],
    ['livekit.SIP', sipService],
  ]);
}
